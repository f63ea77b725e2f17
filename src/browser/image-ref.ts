// Names the local builder, the sidecar planner and the Kubernetes renderer share (no I/O here).
export const BROWSER_IMAGE_REPO = 'localhost/clawpod-browser';
/** Where Debian's chromium package puts the browser, on the host and in the sidecar image alike. */
export const CHROMIUM_DIR = '/usr/lib/chromium';
export const CHROMIUM_BIN = `${CHROMIUM_DIR}/chromium`;
