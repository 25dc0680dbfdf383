// The front of the test host, standing in for the TLS terminator before the real container: runs inside
// the engine's network namespace (where the container's nginx listens on port 80) and is handed, over
// IPC, a server socket the harness opened on the machine's loopback. Each connection accepted there is
// piped to 127.0.0.1:RELAY_TARGET_PORT inside the namespace. Bytes only: HTTP and WebSocket pass as they are.
// IPC: ← ('server', handle) → {type:'ready'}.
import { connect } from 'node:net';

const targetPort = Number(process.env.RELAY_TARGET_PORT ?? 80);

process.on('message', (message, server) => {
  if (message !== 'server' || !server) return;
  server.on('connection', (client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    client.pipe(upstream);
    upstream.pipe(client);
    // nginx not listening (crash loop, container gone): the client sees its connection reset.
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });
  process.send?.({ type: 'ready' });
});
