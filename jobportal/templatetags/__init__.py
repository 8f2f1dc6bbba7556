"""Template tag libraries the apps share (registered in TEMPLATES' libraries)."""
