"""Services: the operations every front end (HTTP, CLI, MCP) calls."""
