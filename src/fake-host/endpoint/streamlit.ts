// The upstream behind the proxy: a Streamlit app as the manual procedure imagines it ('seed': a plain request
// to the WebSocket path gets 426) or as Tornado really answers ('tornado': GET 400, HEAD 405).
export type StreamlitFlavour = 'seed' | 'tornado';

export interface UpstreamAnswer {
  status: number;
  body: string;
  contentType: string;
}

const PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="UTF-8"><title>Streamlit</title></head>
<body><noscript>You need to enable JavaScript to run this app.</noscript><div id="root"></div></body>
</html>
`;

// A request that reached the app without an upgrade (or not to the stream path).
export function streamlitAnswer(flavour: StreamlitFlavour, method: string, path: string, healthFails: boolean): UpstreamAnswer {
  const text = (status: number, body: string): UpstreamAnswer => ({ status, body, contentType: 'text/plain; charset=UTF-8' });
  if (path === '/_stcore/health') {
    if (healthFails) return text(503, 'unavailable');
    return method === 'GET' || method === 'HEAD' ? text(200, 'ok') : text(405, '');
  }
  if (path === '/_stcore/stream') {
    if (flavour === 'seed') return text(426, 'Upgrade Required');
    if (method === 'GET') return text(400, 'Can "Upgrade" only to "WebSocket".');
    return text(405, '');
  }
  if (method === 'GET' || method === 'HEAD') return { status: 200, body: PAGE, contentType: 'text/html' };
  return text(405, '');
}

// Tornado's check_origin: the Origin's host must equal the Host header the app receives.
export function originAllowed(origin: string | undefined, upstreamHost: string | undefined): boolean {
  if (origin === undefined) return true;
  try {
    return new URL(origin).host.toLowerCase() === (upstreamHost ?? '').toLowerCase();
  } catch {
    return false;
  }
}
