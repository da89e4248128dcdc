import pino, { type Logger } from 'pino';

/** JSON logs on stdout; secrets are redacted by key wherever they appear. */
export function createLogger(options: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? process.env.OPSBOOK_LOG_LEVEL ?? 'info',
      base: { app: 'opsbook' },
      redact: {
        paths: [
          '*.password',
          '*.token',
          '*.secret',
          '*.authorization',
          '*.headers.authorization',
          'password',
          'token',
        ],
        censor: '***',
      },
    },
    options.destination,
  );
}
