// POSTs a JSON body with undici and classifies the answer the way every HTTP channel needs.
import { request } from 'undici';
import { VERSION } from '../../runtime/version.js';
import { abortMessage, describeError, type SendResult } from './channel.js';

const USER_AGENT = `Opsbook/${VERSION}`;
const SNIPPET_CHARS = 300;
const MAX_BODY_BYTES = 64 * 1024;

export async function postJson(
  url: string,
  body: unknown,
  options: { signal: AbortSignal; headers?: Record<string, string> },
): Promise<SendResult> {
  try {
    const response = await request(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
        ...options.headers,
      },
      body: JSON.stringify(body),
      signal: options.signal,
    });
    const text = await readSnippet(response.body);
    return classify(response.statusCode, response.headers['retry-after'], text);
  } catch (error) {
    // Network errors and timeouts are worth retrying: the receiver may just be restarting.
    if (options.signal.aborted) return { ok: false, retryable: true, error: abortMessage(options.signal) };
    return { ok: false, retryable: true, error: describeError(error) };
  }
}

/** 2xx delivered; 429 and 5xx (and 408, a timeout) retried; anything else refused for good. */
export function classify(
  status: number,
  retryAfter: string | string[] | undefined,
  text: string,
  now = Date.now(),
): SendResult {
  const response = text.trim().slice(0, SNIPPET_CHARS) || undefined;
  if (status >= 200 && status < 300) return { ok: true, retryable: false, status, response };
  const retryable = status === 429 || status === 408 || status >= 500;
  const retryAfterMs = retryable ? parseRetryAfter(retryAfter, now) : undefined;
  const error =
    status >= 300 && status < 400
      ? `HTTP ${status}: redirects are not followed; configure the final URL`
      : `HTTP ${status}${response ? `: ${response.split('\n')[0]!.slice(0, 200)}` : ''}`;
  return {
    ok: false,
    retryable,
    status,
    response,
    error,
    ...(retryAfterMs !== undefined && { retryAfterMs }),
  };
}

/** Retry-After is either seconds or an HTTP date (RFC 9110 10.2.3). */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

async function readSnippet(body: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= MAX_BODY_BYTES) break;
  }
  return Buffer.concat(chunks).toString('utf8');
}
