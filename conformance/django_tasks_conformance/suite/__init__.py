"""The conformance tests. Each cites the requirements it checks; run them with the plugin."""
