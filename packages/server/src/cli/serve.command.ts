import { InvalidArgumentError, type Command } from 'commander';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run Opsbook: load the config, open the store, run the checks and serve the API')
    .option('-c, --config <file>', 'the config file', process.env.OPSBOOK_CONFIG ?? 'opsbook.yaml')
    .option('-p, --port <port>', 'override server.port', (value) => {
      const port = Number(value);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new InvalidArgumentError(`"${value}" is not a port; give a number from 0 to 65535`);
      return port;
    })
    .option('--no-watch', 'do not reload when the config file changes (SIGHUP still reloads)')
    .option('--json', 'logs are always JSON lines; accepted for symmetry with the other commands')
    .action(async (options: { config: string; port?: number; watch: boolean }) => {
      // Loaded here, not at the top: every other command would otherwise pay for loading the whole server.
      const { formatDiagnostic } = await import('../config/load.js');
      const { ConfigInvalidError, Opsbook } = await import('../runtime/opsbook.js');
      const opsbook = new Opsbook({
        configFile: options.config,
        port: options.port,
        watchConfig: options.watch,
      });
      try {
        await opsbook.start();
      } catch (error) {
        if (error instanceof ConfigInvalidError) {
          for (const d of error.diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`);
          process.stderr.write(
            `${error.message}; Opsbook did not start. Fix them and run again (check with \`opsbook config validate ${options.config}\`).\n`,
          );
          process.exit(2);
        }
        process.stderr.write(`Opsbook could not start: ${(error as Error).message}\n`);
        process.exit(1);
      }
      process.on('SIGHUP', () => void opsbook.reload());
      const stop = (signal: string) => {
        opsbook.logger.info({ signal }, 'signal received');
        void opsbook.stop().then(() => process.exit(0));
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
}
