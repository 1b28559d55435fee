"""离线包: what a phone keeps of the inspector's 我的任务 to work without network."""
