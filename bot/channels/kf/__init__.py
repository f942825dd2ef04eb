"""微信客服: the customers WeDa serves, reached from external groups; callback, sync_msg pulls, send_msg out."""
