// GraphiQL for gql: queries and mutations over HTTP, subscriptions over graphql-ws, both
// with the headers of the Headers pane (the WebSocket gets them in connection_init).
(function () {
  "use strict";

  var DEFAULT_QUERY = [
    "# Welcome to gql. The catalog is public:",
    "query Products {",
    "  products(first: 5) {",
    "    totalCount",
    "    edges { node { id name price inStock images { url altText width height resizedUrl(size: SMALL) } } }",
    "    pageInfo { hasNextPage endCursor }",
    "  }",
    "}",
    "",
    "# Any object again by its global id (opaque, unique across types):",
    "query Refetch {",
    '  node(id: "UHJvZHVjdDox") { __typename id ... on Product { sku name price } }',
    "}",
    "",
    "# Sign in (`make run` prints the demo accounts), then put",
    '#   {"Authorization": "Bearer <accessToken>"}',
    "# in the Headers pane below: requests and subscriptions send it.",
    "mutation Login {",
    '  login(input: {email: "admin@example.com", password: "gql-demo-admin"}) {',
    "    __typename",
    "    ... on AuthPayload { accessToken refreshToken expiresIn }",
    "    ... on UserError { code message field }",
    "  }",
    "}",
    "",
    "# Live stock changes (staff or admin): run it, then change some stock.",
    '# Resume later with stockChanged(after: "<cursor of the last event>").',
    "subscription StockChanged {",
    "  stockChanged { cursor delta quantityAfter reason product { sku name stock } }",
    "}",
    "",
  ].join("\n");

  var httpUrl = new URL("graphql", window.location.href).href.split("?")[0];
  var wsUrl = httpUrl.replace(/^http/, "ws");
  var socket = { client: null, key: null };

  function websocketFor(headers) {
    // One connection per set of headers: a new token means a new connection_init.
    var key = JSON.stringify(headers);
    if (socket.client === null || socket.key !== key) {
      if (socket.client !== null) {
        socket.client.dispose();
      }
      socket.client = graphqlWs.createClient({ url: wsUrl, connectionParams: headers, lazy: true });
      socket.key = key;
    }
    return socket.client;
  }

  function isSubscription(params, options) {
    var document = options && options.documentAST;
    if (!document) {
      return /^\s*subscription\b/m.test(params.query || "");
    }
    return document.definitions.some(function (definition) {
      return (
        definition.kind === "OperationDefinition" &&
        definition.operation === "subscription" &&
        (!params.operationName || (definition.name && definition.name.value === params.operationName))
      );
    });
  }

  function subscribe(params, headers) {
    var client = websocketFor(headers);
    return {
      subscribe: function (sink) {
        var dispose = client.subscribe(params, {
          next: function (value) { sink.next(value); },
          error: function (error) {
            // A closed socket arrives as a CloseEvent: show its code and reason.
            if (error && typeof error.code === "number") {
              sink.next({ errors: [{ message: "WebSocket closed: " + error.code + " " + (error.reason || "") }] });
              sink.complete();
            } else {
              sink.error(error);
            }
          },
          complete: function () { sink.complete(); },
        });
        return { unsubscribe: dispose };
      },
    };
  }

  function post(params, headers) {
    return fetch(httpUrl, {
      method: "POST",
      credentials: "omit",
      headers: Object.assign(
        {
          "Content-Type": "application/json",
          Accept: "application/graphql-response+json, application/json",
        },
        headers
      ),
      body: JSON.stringify(params),
    }).then(function (response) {
      return response.json();
    });
  }

  function fetcher(params, options) {
    var headers = (options && options.headers) || {};
    return isSubscription(params, options) ? subscribe(params, headers) : post(params, headers);
  }

  var explorer = GraphiQLPluginExplorer.explorerPlugin();
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: DEFAULT_QUERY,
      plugins: [explorer],
      shouldPersistHeaders: true,
      defaultEditorToolsVisibility: "headers",
    })
  );
})();
