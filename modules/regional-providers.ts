import { Construct } from 'constructs';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider/index.js';

/** Props of {@link RegionalProviders}. */
export interface RegionalProvidersProps {
  /** Tags every provider adds to what it creates (the same as the default provider's). */
  readonly defaultTags: Record<string, string>;
}

/** The alias of the provider of `region`, e.g. "us_west_2". */
export function regionAlias(region: string): string {
  return region.replace(/-/g, '_');
}

/**
 * AWS providers for regions other than the deployment's, one per region (aliased by region name), so
 * the snapshot copy vault and the dump replica share one provider when they are in the same region.
 */
export class RegionalProviders extends Construct {
  private readonly providers = new Map<string, AwsProvider>();

  /** The provider of `region`, created on first use. */
  forRegion(region: string): AwsProvider {
    let provider = this.providers.get(region);
    if (provider === undefined) {
      provider = new AwsProvider(this, regionAlias(region), { region, alias: regionAlias(region), defaultTags: [{ tags: this.props.defaultTags }] });
      this.providers.set(region, provider);
    }
    return provider;
  }

  constructor(scope: Construct, id: string, private readonly props: RegionalProvidersProps) {
    super(scope, id);
  }
}
