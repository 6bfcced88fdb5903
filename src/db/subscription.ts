import type { Notifications } from './notifications.js';

/**
 * Follows a LISTEN/NOTIFY channel for a cache or feed: `onChange` for each notification, and
 * `onReconnect` after the listening connection came back (when notifications may have been
 * missed). Returns the function that stops following.
 */
export async function followChannel(
  notifications: Notifications,
  channel: string,
  onChange: (payload: string) => void,
  onReconnect: () => void = () => onChange(''),
): Promise<() => Promise<void>> {
  const unlisten = await notifications.listen(channel, onChange);
  const unsubscribe = notifications.onReconnect(onReconnect);
  return async () => {
    unsubscribe();
    await unlisten();
  };
}
