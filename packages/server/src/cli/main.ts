#!/usr/bin/env node
import { Command } from 'commander';
import { VERSION } from '../runtime/version.js';
import { registerServeCommand } from './serve.command.js';
import { registerConfigCommands } from './config.command.js';
import { registerCheckCommands } from './check.command.js';
import { registerStatusCommand } from './status.command.js';
import { registerAlertCommands } from './alerts.command.js';

const program = new Command('opsbook')
  .description('Opsbook: the operations guide as running software')
  .version(VERSION)
  .showHelpAfterError('(run with --help for usage)');

registerServeCommand(program);
registerConfigCommands(program);
registerCheckCommands(program);
registerStatusCommand(program);
registerAlertCommands(program);

await program.parseAsync(process.argv);
