// The part of Prometheus's annotation templates people use: {{ $value }}, {{ $labels.name }},
// {{ $value | humanize }}, {{ $value | humanizePercentage }}, {{ $value | humanizeDuration }}.
import type { Labels } from '../telemetry/series.js';

const ACTION = /\{\{\s*(.*?)\s*\}\}/g;
const FUNCTIONS = ['humanize', 'humanizePercentage', 'humanizeDuration', 'printf'] as const;

export function validateTemplate(text: string): string | undefined {
  for (const match of text.matchAll(ACTION)) {
    const [head, ...pipes] = match[1]!.split('|').map((part) => part.trim());
    if (head !== '$value' && !/^\$labels\.[a-zA-Z_][a-zA-Z0-9_]*$/.test(head ?? ''))
      return `{{ ${match[1]} }}: use $value or $labels.<name>`;
    for (const pipe of pipes) {
      const name = pipe.split(/\s+/)[0] as (typeof FUNCTIONS)[number];
      if (!FUNCTIONS.includes(name))
        return `{{ ${match[1]} }}: unknown function "${name}"; known: ${FUNCTIONS.join(', ')}`;
    }
  }
  return undefined;
}

export function expandTemplate(text: string, labels: Labels, value: number | null): string {
  return text.replace(ACTION, (_, action: string) => {
    const [head, ...pipes] = action.split('|').map((part) => part.trim());
    let current: number | string =
      head === '$value' ? (value ?? NaN) : (labels[(head ?? '').replace(/^\$labels\./, '')] ?? '');
    for (const pipe of pipes) current = applyFunction(pipe, current);
    return typeof current === 'number' ? formatNumber(current) : current;
  });
}

function applyFunction(pipe: string, value: number | string): number | string {
  const [name, ...args] = pipe.split(/\s+/);
  const n = typeof value === 'number' ? value : Number(value);
  switch (name as (typeof FUNCTIONS)[number]) {
    case 'humanize':
      return humanize(n);
    case 'humanizePercentage':
      return `${formatNumber(Math.round(n * 10000) / 100)}%`;
    case 'humanizeDuration':
      return humanizeDuration(n);
    case 'printf': {
      const format = (args.join(' ') || '"%v"').replace(/^"|"$/g, '');
      const decimals = /%\.(\d+)f/.exec(format);
      return format.replace(/%(\.\d+)?[fvd]/, decimals ? n.toFixed(Number(decimals[1])) : formatNumber(n));
    }
  }
}

function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  return Number.isInteger(n) ? String(n) : String(Math.round(n * 1000) / 1000);
}

function humanize(n: number): string {
  const units = ['', 'k', 'M', 'G', 'T', 'P'];
  let i = 0;
  while (Math.abs(n) >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${formatNumber(Math.round(n * 100) / 100)}${units[i]}`;
}

function humanizeDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return String(seconds);
  if (seconds < 1) return `${formatNumber(Math.round(seconds * 1000))}ms`;
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
  ] as const) {
    if (seconds >= size) {
      parts.push(`${Math.floor(seconds / size)}${unit}`);
      seconds %= size;
    }
  }
  if (seconds > 0 || parts.length === 0) parts.push(`${formatNumber(Math.round(seconds * 100) / 100)}s`);
  return parts.join(' ');
}
