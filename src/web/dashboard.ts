/** The dashboard page (placeholder until the page is built). */
export function dashboardHtml(appId: string): string {
  return `<!doctype html><title>${appId}</title>`
}
