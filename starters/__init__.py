"""Everything that starts or talks to workflows: CLI, dev stack, mail sink."""
