#!/usr/bin/env node
import { Command } from 'commander';
import { VERSION } from '../runtime/version.js';
import { registerServeCommand } from './serve.command.js';
import { registerConfigCommands } from './config.command.js';
import { registerCheckCommands } from './check.command.js';
import { registerStatusCommand } from './status.command.js';
import { registerAlertCommands } from './alerts.command.js';
import { registerOncallCommands } from './oncall.command.js';
import { registerIncidentCommands } from './incidents.command.js';
import { registerRunbookCommands } from './runbooks.command.js';
import { registerPostmortemCommands } from './postmortem.command.js';
import { registerDrillCommands } from './drill.command.js';
import { registerDbCommands } from './db.command.js';
import { registerPitrCommands } from './pitr.command.js';
import { registerBackupCommands } from './backup.command.js';
import { registerDeploymentCommands } from './deployments.command.js';
import { registerAccessCommands } from './access.command.js';

// `opsbook status | head` closes the pipe early; that is not an error worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const program = new Command('opsbook')
  .description('Opsbook: the operations guide as running software')
  .version(VERSION)
  .showHelpAfterError('(run with --help for usage)')
  // Root options only before a subcommand, so `deployments record --version 1.4.2` is the deployment's version.
  .enablePositionalOptions();

registerServeCommand(program);
registerConfigCommands(program);
registerCheckCommands(program);
registerStatusCommand(program);
registerAlertCommands(program);
registerOncallCommands(program);
registerIncidentCommands(program);
registerRunbookCommands(program);
// Adds `incidents postmortem` and `incidents report` to the group above (it finds or creates it).
registerPostmortemCommands(program);
registerDrillCommands(program);
registerDbCommands(program);
registerPitrCommands(program);
registerBackupCommands(program);
registerDeploymentCommands(program);
registerAccessCommands(program);

await program.parseAsync(process.argv);
