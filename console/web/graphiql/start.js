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
  var container = document.getElementById("graphiql");
  var root = ReactDOM.createRoot(container);
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultHeaders: headers,
      defaultQuery: query,
      // GraphiQL keeps its tabs (headers included) in this storage: the
      // session's, like the console's token, never localStorage.
      storage: window.sessionStorage,
    })
  );

  // GraphiQL 4's markup misses a few things a screen reader or keyboard
  // user needs (axe: label, nested-interactive, scrollable-region-focusable).
  // React re-renders these elements, so they are mended whenever they change.
  function setAttr(el, name, value) {
    if (el.getAttribute(name) !== value) el.setAttribute(name, value);
  }
  function mend() {
    container.querySelectorAll(".CodeMirror textarea").forEach(function (area) {
      var name = "Response";
      if (area.closest(".graphiql-query-editor")) name = "Query";
      else if (area.closest(".graphiql-editor-tool")) {
        var editors = area.closest(".graphiql-editor-tool").querySelectorAll(".graphiql-editor");
        name = editors[0] && editors[0].contains(area) ? "Variables" : "Headers";
      }
      setAttr(area, "aria-label", name);
    });
    // A tab is an <li role=tab> holding its select and close buttons; the
    // role moves to the select button so no control sits inside another.
    container.querySelectorAll("li.graphiql-tab").forEach(function (tab) {
      var select = tab.querySelector("button");
      if (!select) return;
      setAttr(select, "role", "tab");
      setAttr(select, "aria-selected", String(tab.classList.contains("graphiql-tab-active")));
      setAttr(tab, "role", "presentation");
      tab.removeAttribute("aria-selected");
    });
    container.querySelectorAll(".CodeMirror-scroll").forEach(function (area) {
      setAttr(area, "tabindex", "0");
    });
  }
  new MutationObserver(mend).observe(container, {
    subtree: true,
    childList: true,
    attributes: true,
    attributeFilter: ["role", "aria-selected", "tabindex", "class"],
  });
})();
