"""Reports: how results and findings are written for people, CI annotations and code-scanning tools."""
