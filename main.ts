import { App } from 'cdktf';
import { Command } from 'commander';
import { loadConfigFile, resolveConfigPath } from './functions/shared/config/load.js';
import { errorMessage } from './functions/shared/errors.js';
import { BackupStack } from './modules/backup-stack.js';
import { EMULATOR_SKIP_ENV, removeResourceTypes, skippedTypes } from './modules/emulator-skip.js';
import { BUNDLE_DIR_ENV, buildOrchestratorBundle } from './modules/orchestrator-bundle.js';

/**
 * The CDKTF app: validates the config (`--config <file>`, else $BACKUP_CONFIG, else
 * ./backup.config.json), bundles the orchestrator (unless $ORCHESTRATOR_BUNDLE_DIR names a prebuilt
 * bundle) and synthesizes the one stack, named after the config's deployment `name` (so each deployment
 * has its own directory in cdktf.out/stacks/ and its own state file).
 */
function main(argv: readonly string[]): void {
  const options = new Command()
    .name('main.ts')
    .option('-c, --config <file>', 'configuration file (default: $BACKUP_CONFIG or backup.config.json)')
    .allowUnknownOption()
    .parse([...argv])
    .opts<{ config?: string }>();
  const config = loadConfigFile(resolveConfigPath(options.config));
  // A prebuilt bundle (CI, scripts/verify-infra.ts) keeps several synths on exactly the same code.
  const bundleDir = process.env[BUNDLE_DIR_ENV] ?? buildOrchestratorBundle().dir;
  const app = new App();
  const stack = new BackupStack(app, config.name, { config, bundleDir });
  // verify:deploy only: what the emulator cannot create (modules/emulator-skip.ts); unset in a real deployment.
  const skipped = removeResourceTypes(stack, skippedTypes(process.env[EMULATOR_SKIP_ENV]));
  if (skipped.length > 0) process.stderr.write(`${EMULATOR_SKIP_ENV}: left out ${skipped.join(', ')}\n`);
  app.synth();
}

try {
  main(process.argv);
} catch (error) {
  process.stderr.write(`error: ${errorMessage(error)}\n`);
  process.exit(1);
}
