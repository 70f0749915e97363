import type { Logger } from '../logger';

/** How often the trims run; the first runs shortly after start, off the start-up path. */
const EVERY_MS = 60 * 60_000;
const FIRST_AFTER_MS = 30_000;

/**
 * Runs age-based trims (usage records, audit events) now and then in the background. Ages are
 * far longer than any request, so no process can still need what is trimmed; a failed trim
 * (the database away) is logged and tried again next time.
 */
export function startRetention(
  trims: Record<string, () => Promise<number>>,
  logger: Logger,
): { stop(): void } {
  const run = async () => {
    for (const [name, trim] of Object.entries(trims)) {
      try {
        const deleted = await trim();
        if (deleted > 0) logger.info({ trim: name, deleted }, 'trimmed old rows');
      } catch (error) {
        logger.warn({ err: error, trim: name }, 'trim failed; will retry');
      }
    }
  };
  const first = setTimeout(() => void run(), FIRST_AFTER_MS);
  const every = setInterval(() => void run(), EVERY_MS);
  first.unref();
  every.unref();
  return {
    stop() {
      clearTimeout(first);
      clearInterval(every);
    },
  };
}
