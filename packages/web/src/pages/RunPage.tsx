import { Link, useParams } from 'react-router';
import { RunView } from '../components/RunView.js';

export function RunPage() {
  const id = useParams().id!;
  return (
    <>
      <p>
        <Link to="/runbooks">← Runbooks</Link>
      </p>
      <h1>Run {id}</h1>
      <RunView id={id} />
    </>
  );
}
