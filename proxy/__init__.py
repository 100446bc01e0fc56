"""The aiohttp proxy: client path, shadow path, modes, store, report and command line."""
