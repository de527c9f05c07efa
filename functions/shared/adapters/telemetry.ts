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

/** Logger and per-target metrics of one process. */
export interface Telemetry {
  logger: Logger;
  /** Publishes the given metrics at once, as one EMF document with dimensions { service, target }. */
  emit(target: string, values: Partial<Record<MetricName, number>>): void;
}

/** Creates the logger and the metrics emitter, reading the Powertools environment variables. */
export function createTelemetry(env: NodeJS.ProcessEnv = process.env): Telemetry {
  const serviceName = env.POWERTOOLS_SERVICE_NAME || DEFAULT_SERVICE;
  const namespace = env.POWERTOOLS_METRICS_NAMESPACE || DEFAULT_NAMESPACE;
  const logger = new Logger({ serviceName });
  return {
    logger,
    emit(target, values) {
      // A fresh instance per emission: targets run concurrently, and shared dimensions would mix them up.
      const metrics = new Metrics({ namespace, serviceName, defaultDimensions: { target } });
      let any = false;
      for (const [name, value] of Object.entries(values) as [MetricName, number | undefined][]) {
        if (value === undefined || !Number.isFinite(value)) continue;
        metrics.addMetric(name, METRICS[name], value);
        any = true;
      }
      if (any) metrics.publishStoredMetrics();
    },
  };
}
