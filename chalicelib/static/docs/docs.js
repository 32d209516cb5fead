// Starts Swagger UI on this API's own document. A separate file (not an inline script) so the
// page's Content-Security-Policy can forbid inline scripts. No validator badge: its default
// (validator.swagger.io) would send the document to a third party.
window.addEventListener("load", () => {
  window.ui = SwaggerUIBundle({
    url: "openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    persistAuthorization: false, // a pasted access token lives in this tab's memory only
    displayRequestDuration: true,
    defaultModelsExpandDepth: 0,
    docExpansion: "list",
    filter: true,
    tryItOutEnabled: false,
  });
});
