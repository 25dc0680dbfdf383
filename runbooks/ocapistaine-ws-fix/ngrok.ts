// Where the tool runs beside ngrok, its local API (loopback only) tells whether the tunnel is up and where it points.

const NGROK_HOST = /\.ngrok(-free)?\.(app|io|dev)$/;

/** Evidence from http://127.0.0.1:4040/api/tunnels, for an ngrok target; nothing when none answers here. */
export async function localNgrokTunnels(target: string): Promise<string[]> {
  if (!NGROK_HOST.test(new URL(target).hostname)) return [];
  try {
    const response = await fetch('http://127.0.0.1:4040/api/tunnels', { signal: AbortSignal.timeout(1000) });
    const body = (await response.json()) as { tunnels?: { public_url?: string }[] };
    const urls = (body.tunnels ?? []).map((t) => t.public_url ?? '');
    const wanted = new URL(target).origin;
    return [urls.includes(wanted) ? `the local ngrok agent serves ${wanted}` : `the local ngrok agent runs, but none of its tunnels is ${wanted} (it has: ${urls.join(', ') || 'none'})`];
  } catch {
    return ['no ngrok agent answers on this machine (127.0.0.1:4040): if the tunnel runs elsewhere, check it there'];
  }
}
