/** One import for every job generator. */
export { buildBackupJob } from './backup-job.js';
export { buildDrillJob, buildScratchDropJob } from './drill-job.js';
export { buildRestoreJob, type RestoreOptions } from './restore-job.js';
export { buildLaunchScript } from './launch.js';
export { ScriptError, type JobContext } from './common.js';
