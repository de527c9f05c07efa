import { pathToFileURL } from 'node:url';
import { buildOrchestratorBundle, ORCHESTRATOR_BUNDLE_DIR } from '../modules/orchestrator-bundle.js';

/** Bundles the orchestrator Lambda into dist/orchestrator/ (main.ts does the same before every synth). */
function main(argv: readonly string[]): number {
  if (argv.length > 0) {
    process.stderr.write(`error: unexpected argument ${argv[0]}\nusage: build-lambda\n`);
    return 2;
  }
  try {
    const bundle = buildOrchestratorBundle();
    process.stdout.write(`${bundle.file}: ${bundle.bytes} bytes${bundle.changed ? '' : ' (unchanged)'}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`error: bundling into ${ORCHESTRATOR_BUNDLE_DIR} failed: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
