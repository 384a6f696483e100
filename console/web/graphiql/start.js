// Starts GraphiQL against this server's /graphql. A classic script (not a
// module) because the vendored React and GraphiQL builds set globals.
(function () {
  "use strict";
  var fetcher = GraphiQL.createFetcher({ url: "/graphql" });
  // Reuse the console's sign-in when this tab has one, so an engineer can
  // explore with their own role; otherwise the headers tab takes a token.
  var token = window.sessionStorage.getItem("refund-desk.token");
  var headers = token ? JSON.stringify({ Authorization: "Bearer " + token }, null, 2) : "{}";
  var query = token
    ? "{\n  me {\n    name\n    roles\n  }\n}\n"
    : "# Sign in, then put the token under Headers as\n" +
      '# { "Authorization": "Bearer <token>" }\n' +
      "mutation SignIn {\n" +
      '  login(email: "admin@demo.refund-desk.test", password: "refund-desk-demo") {\n' +
      "    token\n    expiresAt\n  }\n}\n";
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultHeaders: headers,
      defaultQuery: query,
    })
  );
})();
