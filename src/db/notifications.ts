import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import type { Logger } from 'pino';

export type NotificationHandler = (payload: string) => void;

/**
 * Postgres LISTEN/NOTIFY, for telling every process of the service that something changed (a key
 * was revoked, a job was queued, a task moved on). Senders call `pg_notify` inside their write
 * transaction, so a notification is delivered only once its data is committed.
 *
 * A notification can be lost while the listening connection is down. Subscribers therefore also
 * get `onReconnect`, after which they must re-read whatever state they cache or follow.
 */
export interface Notifications {
  /** Subscribes to a channel (a name without the schema prefix). Returns an unsubscribe function. */
  listen(channel: string, handler: NotificationHandler): Promise<() => Promise<void>>;
  /** Subscribes to a channel named in full by a library that notifies on its own (pg-boss). */
  listenChannel(channel: string, handler: NotificationHandler): Promise<() => Promise<void>>;
  /** The channel's full name for `pg_notify`, which includes the schema so deployments sharing a database do not hear each other. */
  channel(name: string): string;
  onReconnect(handler: () => void): () => void;
  close(): Promise<void>;
}

abstract class ChannelRegistry implements Notifications {
  protected readonly handlers = new Map<string, Set<NotificationHandler>>();
  private readonly reconnectHandlers = new Set<() => void>();

  constructor(private readonly schema: string) {}

  channel(name: string): string {
    return `${this.schema}__${name}`;
  }

  listen(name: string, handler: NotificationHandler): Promise<() => Promise<void>> {
    return this.listenChannel(this.channel(name), handler);
  }

  async listenChannel(channel: string, handler: NotificationHandler): Promise<() => Promise<void>> {
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
      await this.subscribe(channel);
    }
    set.add(handler);
    return async () => {
      const current = this.handlers.get(channel);
      if (!current?.delete(handler) || current.size > 0) return;
      this.handlers.delete(channel);
      await this.unsubscribe(channel);
    };
  }

  onReconnect(handler: () => void): () => void {
    this.reconnectHandlers.add(handler);
    return () => this.reconnectHandlers.delete(handler);
  }

  protected dispatch(channel: string, payload: string): void {
    for (const handler of this.handlers.get(channel) ?? []) handler(payload);
  }

  protected reconnected(): void {
    for (const handler of this.reconnectHandlers) handler();
  }

  protected abstract subscribe(channel: string): Promise<void>;
  protected abstract unsubscribe(channel: string): Promise<void>;
  abstract close(): Promise<void>;
}

/** Embedded database: notifications stay inside this process, through PGlite's own LISTEN. */
export class PGliteNotifications extends ChannelRegistry {
  private readonly unlisteners = new Map<string, () => Promise<void>>();

  constructor(private readonly pglite: PGlite, schema: string) {
    super(schema);
  }

  protected async subscribe(channel: string): Promise<void> {
    this.unlisteners.set(channel, await this.pglite.listen(channel, (payload) => this.dispatch(channel, payload)));
  }

  protected async unsubscribe(channel: string): Promise<void> {
    await this.unlisteners.get(channel)?.();
    this.unlisteners.delete(channel);
  }

  async close(): Promise<void> {
    this.unlisteners.clear();
    this.handlers.clear();
  }
}

/** Postgres: one dedicated connection per process LISTENs; it reconnects with backoff when lost. */
export class PostgresNotifications extends ChannelRegistry {
  private client: pg.Client | undefined;
  private connecting: Promise<void> | undefined;
  private closed = false;
  private retryDelayMs = 100;

  constructor(
    private readonly clientConfig: pg.ClientConfig,
    schema: string,
    private readonly log: Logger,
  ) {
    super(schema);
  }

  async start(): Promise<void> {
    await this.connect();
  }

  private connect(): Promise<void> {
    this.connecting ??= (async () => {
      const client = new pg.Client({ ...this.clientConfig, application_name: 'portico-listener' });
      client.on('notification', (message) => this.dispatch(message.channel, message.payload ?? ''));
      client.on('error', (error) => {
        this.log.warn({ err: error }, 'notification connection failed; reconnecting');
        this.lost(client);
      });
      client.on('end', () => this.lost(client));
      try {
        await client.connect();
        for (const channel of this.handlers.keys()) await client.query(`LISTEN ${channel}`);
        this.client = client;
        this.retryDelayMs = 100;
      } catch (error) {
        client.removeAllListeners('end');
        await client.end().catch(() => undefined);
        throw error;
      } finally {
        this.connecting = undefined;
      }
    })();
    return this.connecting;
  }

  private lost(client: pg.Client): void {
    if (this.client !== client || this.closed) return;
    this.client = undefined;
    client.removeAllListeners('end');
    void client.end().catch(() => undefined);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed) return;
    const delay = this.retryDelayMs;
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, 2000);
    setTimeout(() => {
      if (this.closed) return;
      this.connect().then(
        () => this.reconnected(),
        (error: unknown) => {
          this.log.debug({ err: error }, 'notification connection still down');
          this.scheduleReconnect();
        },
      );
    }, delay).unref();
  }

  protected async subscribe(channel: string): Promise<void> {
    // While disconnected the channel is remembered and LISTENed on reconnect.
    await this.client?.query(`LISTEN ${channel}`);
  }

  protected async unsubscribe(channel: string): Promise<void> {
    await this.client?.query(`UNLISTEN ${channel}`).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = undefined;
    this.handlers.clear();
    if (client) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
    }
  }
}
