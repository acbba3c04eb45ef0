"""The live terminal UI: spans as they arrive, filtered, as traces and waterfalls."""
