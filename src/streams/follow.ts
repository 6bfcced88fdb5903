import type { Notifications } from '../db/notifications.js';
import { followChannel } from '../db/subscription.js';
import { Wakeup } from './wakeup.js';

/**
 * Wake-ups for followers of a LISTEN/NOTIFY channel whose payload names the items that changed
 * (comma-separated ids), one listener per process however many streams follow. A follower sleeps
 * until a notification names what it follows (or the connection to Postgres was re-established,
 * when anything may have been missed), then reads the changes itself from the durable table.
 */
export class ChangeFeed {
  private readonly followers = new Map<string, Set<Wakeup>>();
  private readonly everything = new Set<Wakeup>();
  private unfollow: (() => Promise<void>) | undefined;

  constructor(
    private readonly notifications: Notifications,
    private readonly channel: string,
  ) {}

  async start(): Promise<void> {
    this.unfollow = await followChannel(
      this.notifications,
      this.channel,
      (payload) => {
        for (const wakeup of this.everything) wakeup.wake();
        for (const key of payload.split(',')) for (const wakeup of this.followers.get(key) ?? []) wakeup.wake();
      },
      () => this.wakeAll(),
    );
  }

  async stop(): Promise<void> {
    await this.unfollow?.();
    this.wakeAll();
  }

  wakeAll(): void {
    for (const wakeup of this.everything) wakeup.wake();
    for (const set of this.followers.values()) for (const wakeup of set) wakeup.wake();
  }

  /** A wake-up for changes to `key` (or to anything, when undefined). Call the returned function to stop following. */
  follow(key: string | undefined): { wakeup: Wakeup; unfollow: () => void } {
    const wakeup = new Wakeup();
    if (key === undefined) {
      this.everything.add(wakeup);
      return { wakeup, unfollow: () => this.everything.delete(wakeup) };
    }
    let set = this.followers.get(key);
    if (!set) {
      set = new Set();
      this.followers.set(key, set);
    }
    set.add(wakeup);
    return {
      wakeup,
      unfollow: () => {
        set.delete(wakeup);
        if (set.size === 0) this.followers.delete(key);
      },
    };
  }

  get size(): number {
    let count = this.everything.size;
    for (const set of this.followers.values()) count += set.size;
    return count;
  }
}
