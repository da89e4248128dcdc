import { describe, expect, it } from 'vitest';
import { expandTemplate, validateTemplate } from './template.js';

describe('annotation templates', () => {
  it('expands $value and $labels with Prometheus-style humanizers', () => {
    const labels = { service: 'shop', instance: 'web-1' };
    expect(expandTemplate('{{ $labels.service }} at {{ $value }}%', labels, 7.12345)).toBe('shop at 7.123%');
    expect(expandTemplate('{{ $value | humanize }}', labels, 1_234_567)).toBe('1.23M');
    expect(expandTemplate('{{ $value | humanizePercentage }}', labels, 0.0512)).toBe('5.12%');
    expect(expandTemplate('{{ $value | humanizeDuration }}', labels, 1.5)).toBe('1.5s');
    expect(expandTemplate('{{ $value | humanizeDuration }}', labels, 0.25)).toBe('250ms');
    expect(expandTemplate('{{ $value | printf "%.1f" }}', labels, 3.14159)).toBe('3.1');
    expect(expandTemplate('{{ $labels.missing }}!', labels, 1)).toBe('!');
  });

  it('rejects unknown functions and fields', () => {
    expect(validateTemplate('{{ $value | shout }}')).toMatch(/unknown function "shout"/);
    expect(validateTemplate('{{ .Labels.x }}')).toMatch(/use \$value or \$labels/);
    expect(validateTemplate('{{ $labels.service }} ok')).toBeUndefined();
  });
});
