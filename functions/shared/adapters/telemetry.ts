import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';

/**
 * Structured JSON logs (Powertools Logger) and CloudWatch metrics in embedded metric format
 * (Powertools Metrics). Every metric carries exactly the dimensions { service, target }: the
 * staleness alarm of the infrastructure watches `BackupAgeHours` with those dimensions.
 */

/** Service name used when POWERTOOLS_SERVICE_NAME is not set. */
export const DEFAULT_SERVICE = 'ecs-db-backup';
/** Metric namespace used when POWERTOOLS_METRICS_NAMESPACE is not set. */
export const DEFAULT_NAMESPACE = 'EcsDbBackup';

/** The metrics the orchestrator emits, with their units. */
export const METRICS = {
  BackupSuccess: MetricUnit.Count,
  BackupFailure: MetricUnit.Count,
  BackupBytes: MetricUnit.Bytes,
  DumpSeconds: MetricUnit.Seconds,
  UploadSeconds: MetricUnit.Seconds,
  /** Hours since the newest verified backup started (CloudWatch has no hour unit). */
  BackupAgeHours: MetricUnit.NoUnit,
  /** 1 when a successful backup is much smaller than the one before it (uploaded, but flagged), else 0. */
  BackupShrank: MetricUnit.Count,
  RestoreDrillSuccess: MetricUnit.Count,
  RestoreDrillFailure: MetricUnit.Count,
  /** An existing bucket is not versioned (or its versioning cannot be read): older weeks are not kept. */
  BucketVersioningDisabled: MetricUnit.Count,
} as const;

/** A metric name the orchestrator emits. */
export type MetricName = keyof typeof METRICS;

/** The metrics of the whole deployment, with the one dimension { service } (no target). */
export const FLEET_METRICS = {
  /** Targets stale after a scheduled invocation (core/fleet-staleness.ts): what `alarms.staleness: "fleet"` alarms on. */
  StaleTargets: MetricUnit.Count,
} as const;

/** A fleet-level metric name. */
export type FleetMetricName = keyof typeof FLEET_METRICS;

/** Logger and per-target metrics of one process. */
export interface Telemetry {
  logger: Logger;
  /** Publishes the given metrics at once, as one EMF document with dimensions { service, target }. */
  emit(target: string, values: Partial<Record<MetricName, number>>): void;
  /** Publishes fleet-level metrics at once, with the dimension { service } only. */
  emitFleet(values: Partial<Record<FleetMetricName, number>>): void;
}

/** Creates the logger and the metrics emitter, reading the Powertools environment variables. */
export function createTelemetry(env: NodeJS.ProcessEnv = process.env): Telemetry {
  const serviceName = env.POWERTOOLS_SERVICE_NAME || DEFAULT_SERVICE;
  const namespace = env.POWERTOOLS_METRICS_NAMESPACE || DEFAULT_NAMESPACE;
  const logger = new Logger({ serviceName });
  return {
    logger,
    // A fresh instance per emission: targets run concurrently, and shared dimensions would mix them up.
    emit: (target, values) => publish(new Metrics({ namespace, serviceName, defaultDimensions: { target } }), METRICS, values),
    emitFleet: (values) => publish(new Metrics({ namespace, serviceName }), FLEET_METRICS, values),
  };
}

/** Adds the finite values with their units and publishes them as one EMF document (none: nothing written). */
function publish<N extends string>(metrics: Metrics, units: Record<N, Parameters<Metrics['addMetric']>[1]>, values: Partial<Record<N, number>>): void {
  let any = false;
  for (const [name, value] of Object.entries(values) as [N, number | undefined][]) {
    if (value === undefined || !Number.isFinite(value)) continue;
    metrics.addMetric(name, units[name], value);
    any = true;
  }
  if (any) metrics.publishStoredMetrics();
}
