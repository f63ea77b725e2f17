// The list routes a browser pages through (GET /v1/agents, GET /v1/groups): `?q=` keeps the items
// one of whose fields contains it (case-insensitive), `?limit=` and `?offset=` cut a page. All of it
// happens on the server after the token's scope has filtered the list, so a dashboard over 1,000
// agents downloads the 30 rows it shows, and the total is what this caller may see. With no
// parameter the answer is the whole list, as it was before paging existed.
import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';

/** The most a page holds. */
export const MAX_LIMIT = 1000;

export const PageQuery = z.object({
  q: z.string().max(200).optional().openapi({ description: 'keep items one of whose fields contains this (case-insensitive)' }),
  limit: z.string().regex(/^\d+$/).optional().openapi({ description: `at most this many items (≤ ${MAX_LIMIT}); default: all` }),
  offset: z.string().regex(/^\d+$/).optional().openapi({ description: 'skip this many matching items first' }),
});
export type PageParams = z.infer<typeof PageQuery>;

/** Documents the header every paged answer carries. */
export const TOTAL_HEADER = { 'X-Total-Count': { description: 'how many items match ?q= (before ?limit= and ?offset=)', schema: { type: 'integer' as const } } };

/** The page of `items` the query asks for; sets X-Total-Count to the number that matched. */
export function page<T>(c: Context, items: readonly T[], q: PageParams, fields: (item: T) => readonly (string | null)[]): T[] {
  const needle = q.q?.trim().toLowerCase();
  const matched = needle ? items.filter((i) => fields(i).some((f) => f?.toLowerCase().includes(needle))) : items;
  c.header('X-Total-Count', String(matched.length));
  const offset = Number(q.offset ?? 0);
  const limit = q.limit === undefined ? matched.length : Math.min(Number(q.limit), MAX_LIMIT);
  return matched.slice(offset, offset + limit);
}
