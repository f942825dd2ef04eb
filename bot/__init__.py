"""WeDa service-provider registration assistant for WeCom."""
