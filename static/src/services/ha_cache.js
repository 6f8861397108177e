/**
 * A bounded cache with a time to live per entry, used by the `ha_data`
 * service. Kept free of Odoo services so that its rules (expiry, least
 * recently used eviction) are easy to reason about and to test.
 */

/**
 * JSON text of `value` with object keys sorted, so that `{a, b}` and `{b, a}`
 * name the same cache entry. Keys whose value is `undefined` are skipped, as
 * `JSON.stringify` (and therefore the request body) skips them too.
 *
 * @param {unknown} value
 * @returns {string}
 */
export function stableKey(value) {
    return JSON.stringify(value, (key, item) => {
        if (!item || typeof item !== "object" || Array.isArray(item)) {
            return item;
        }
        return Object.fromEntries(
            Object.keys(item)
                .sort()
                .map((name) => [name, item[name]])
        );
    });
}

/**
 * @typedef {{
 *  scope: number | string | null,
 *  route: string,
 *  data: any,
 *  expiresAt: number,
 * }} CacheEntry
 */

export class TTLCache {
    /**
     * @param {{ maxSize: number }} options
     */
    constructor({ maxSize }) {
        this.maxSize = maxSize;
        /**
         * Insertion order is recency order: the first key is the least
         * recently used one.
         *
         * @type {Map<string, CacheEntry>}
         */
        this.entries = new Map();
    }

    get size() {
        return this.entries.size;
    }

    /**
     * The live entry for `key`, marked as the most recently used; expired
     * entries are dropped on the way.
     *
     * @param {string} key
     * @returns {CacheEntry | undefined}
     */
    get(key) {
        const entry = this.entries.get(key);
        if (!entry) {
            return undefined;
        }
        this.entries.delete(key);
        if (entry.expiresAt <= Date.now()) {
            return undefined;
        }
        this.entries.set(key, entry);
        return entry;
    }

    /**
     * @param {string} key
     * @param {{ scope: CacheEntry["scope"], route: string, data: any }} value
     * @param {number} ttl milliseconds
     */
    set(key, { scope, route, data }, ttl) {
        this.entries.delete(key);
        this.entries.set(key, { scope, route, data, expiresAt: Date.now() + ttl });
        while (this.entries.size > this.maxSize) {
            this.entries.delete(this.entries.keys().next().value);
        }
    }

    /**
     * Entries matching `predicate`, expired ones included: patching an
     * expired entry is harmless, it is never served.
     *
     * @param {(entry: CacheEntry) => boolean} predicate
     * @returns {[string, CacheEntry][]}
     */
    filter(predicate) {
        return [...this.entries].filter(([, entry]) => predicate(entry));
    }

    /** @param {string} key */
    delete(key) {
        this.entries.delete(key);
    }

    clear() {
        this.entries.clear();
    }
}
