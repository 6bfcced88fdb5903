import type { Notifications } from '../db/notifications.js';
import { CATALOGUE_CHANGES, type LocationRepository } from '../db/locations.js';
import { followChannel } from '../db/subscription.js';
import { buildCatalogue, type Catalogue } from '../ml/catalogue.js';
import { locationFeatures } from './profiles.js';

/**
 * The catalogue as scoring needs it (columnar, in memory), loaded once and reloaded when any process
 * changes a location (LISTEN/NOTIFY), or after the notification connection was lost.
 */
export class CatalogueCache {
  private current: Promise<Catalogue> | undefined;
  private unfollow: (() => Promise<void>) | undefined;

  constructor(
    private readonly locations: LocationRepository,
    private readonly notifications: Notifications,
  ) {}

  async start(): Promise<void> {
    this.unfollow = await followChannel(this.notifications, CATALOGUE_CHANGES, () => this.invalidate());
  }

  async stop(): Promise<void> {
    await this.unfollow?.();
  }

  invalidate(): void {
    this.current = undefined;
  }

  get(): Promise<Catalogue> {
    if (!this.current) {
      const loading = this.locations.catalogue().then((rows) => buildCatalogue(rows.map(locationFeatures)));
      loading.catch(() => {
        if (this.current === loading) this.current = undefined;
      });
      this.current = loading;
    }
    return this.current;
  }
}
