import { request } from 'undici';
import { evaluateConditions, parseCondition } from '../../checks/conditions.js';
import { interpolate, type ParameterValue, type RunbookStep } from '../runbook.schema.js';
import { failed, type StepResult, type StepRunner } from './step.js';

const MAX_BODY_BYTES = 64 * 1024;
const SNIPPET_CHARS = 2000;

export interface HttpCall {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
  bearerTokenEnv?: string | undefined;
  conditions: string[];
}

/** One request, judged by Gatus-style conditions; shared by http steps and http actions. */
export async function runHttp(
  call: HttpCall,
  parameters: Record<string, ParameterValue>,
  signal: AbortSignal,
): Promise<StepResult> {
  const url = interpolate(call.url, parameters);
  const token = call.bearerTokenEnv === undefined ? undefined : process.env[call.bearerTokenEnv];
  if (call.bearerTokenEnv !== undefined && !token)
    return failed(`the environment variable ${call.bearerTokenEnv} (bearerTokenEnv) is not set`, {
      request: { method: call.method, url },
    });
  const started = performance.now();
  try {
    const response = await request(url, {
      method: call.method as 'GET',
      headers: token ? { ...call.headers, authorization: `Bearer ${token}` } : call.headers,
      body: call.body,
      signal,
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      if (size < MAX_BODY_BYTES) chunks.push(chunk);
      size += chunk.length;
    }
    const body = Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString('utf8');
    const responseTimeMs = Math.round(performance.now() - started);
    const results = evaluateConditions(call.conditions.map(parseCondition), {
      status: response.statusCode,
      body,
      responseTimeMs,
      connected: true,
    });
    const evidence = {
      request: { method: call.method, url },
      status: response.statusCode,
      responseTimeMs,
      body: body.slice(0, SNIPPET_CHARS),
      conditions: results,
    };
    const failing = results.filter((r) => !r.ok);
    return failing.length === 0
      ? { status: 'succeeded', message: `${response.statusCode} in ${responseTimeMs} ms`, evidence }
      : failed(failing.map((r) => r.description).join('; '), evidence);
  } catch (error) {
    return failed(`request failed: ${(error as Error).message}`, {
      request: { method: call.method, url },
      error: (error as Error).message,
    });
  }
}

export const httpStep: StepRunner<Extract<RunbookStep, { kind: 'http' }>> = (step, context) =>
  runHttp(step, context.parameters, context.signal);
