/* The /docs page of runosd: Swagger UI (swagger-ui-bundle.js, served beside this file) renders
 * this server's /openapi.json. Nothing may reach another host (the page's Content-Security-Policy
 * would refuse it, and the refusal is a console error): the validator badge, which sends the
 * document to validator.swagger.io, is off, and the standalone preset (a top bar that loads
 * other documents by URL) is left out. "Try it out" calls this server, the document's server. */
window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
});
