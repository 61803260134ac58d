// Loopback ports for the local mesh: one to give a listener, one to find nobody listening on.
import net from 'node:net';

/** A loopback port that was free a moment ago (the OS picked it, then it was released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A loopback port nothing listens on, so connecting is refused: a guard that is down. */
export const closedPort = freePort;

/** Does a TCP connection to 127.0.0.1:port succeed? */
export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
