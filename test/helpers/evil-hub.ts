/**
 * A Hub look-alike that misbehaves: a proxy on 127.0.0.1 in front of the mock Hub (test/helpers/mock-hub.ts) whose
 * `tamper` hook may rewrite any answer — headers, listings, bodies — or never answer at all. Tests of
 * src/hub/ use it to play the attacker: a Hub that users point advood at, but that nobody vouches for.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface UpstreamAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Returns the answer to send, 'silence' to hold the connection open and say nothing, or 'handled' after writing `res` itself. */
export type Tamper = (req: IncomingMessage, answer: UpstreamAnswer, res: ServerResponse) => UpstreamAnswer | 'silence' | 'handled';

export interface EvilHub {
  url: string;
  close(): Promise<void>;
}

export async function startEvilHub(upstream: string, tamper: Tamper): Promise<EvilHub> {
  const held: ServerResponse[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const forwarded = await fetch(upstream + req.url, {
      method: req.method,
      headers: Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== 'host' && k !== 'connection').map(([k, v]) => [k, String(v)])),
      body: chunks.length && req.method !== 'GET' && req.method !== 'HEAD' ? Buffer.concat(chunks) : undefined,
      redirect: 'manual',
    });
    const headers: Record<string, string> = {};
    forwarded.headers.forEach((value, key) => {
      if (key !== 'content-encoding' && key !== 'transfer-encoding' && key !== 'connection') headers[key] = value;
    });
    const answer = tamper(req, { status: forwarded.status, headers, body: Buffer.from(await forwarded.arrayBuffer()) }, res);
    if (answer === 'handled') return;
    if (answer === 'silence') {
      held.push(res);
      return;
    }
    res.writeHead(answer.status, answer.headers);
    res.end(req.method === 'HEAD' ? undefined : answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of held) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
