#!/usr/bin/env bash
# Re-vendors the third-party browser files the binary serves (GraphiQL and the
# React it runs on) from the npm registry, at the versions pinned here. After
# running it, commit web/vendor with its SHA256SUMS (a test checks the served
# bytes against it).
# Only needed on an upgrade; Node is never needed to build or run the server.
set -euo pipefail
cd "$(dirname "$0")"
GRAPHIQL=4.1.2 # the last release with a self-contained (UMD) build; 5.x needs a bundler
REACT=18.3.1   # the last React with UMD builds, which GraphiQL 4's UMD build loads
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "graphiql@$GRAPHIQL" "react@$REACT" "react-dom@$REACT" >/dev/null)
for pkg in graphiql-$GRAPHIQL react-$REACT react-dom-$REACT; do
  mkdir -p "$work/$pkg" && tar xzf "$work/$pkg.tgz" -C "$work/$pkg"
done
out=web/vendor
rm -rf "$out" && mkdir -p "$out"
cp "$work/graphiql-$GRAPHIQL/package/graphiql.min.js" "$out/graphiql.min.js"
cp "$work/graphiql-$GRAPHIQL/package/graphiql.min.css" "$out/graphiql.min.css"
cp "$work/graphiql-$GRAPHIQL/package/LICENSE" "$out/LICENSE.graphiql"
cp "$work/react-$REACT/package/umd/react.production.min.js" "$out/react.production.min.js"
cp "$work/react-$REACT/package/LICENSE" "$out/LICENSE.react"
cp "$work/react-dom-$REACT/package/umd/react-dom.production.min.js" "$out/react-dom.production.min.js"
cp "$work/react-dom-$REACT/package/LICENSE" "$out/LICENSE.react-dom"
# The bundles end with source-map comments naming files we do not serve.
sed -i '/^\/\/# sourceMappingURL=/d' "$out"/*.js "$out"/*.css
(cd "$out" && sha256sum -- *.js *.css LICENSE.* > SHA256SUMS && cat SHA256SUMS)
