"""The kiosk web page (`robert-kiosk serve`): a local page for the pharmacist over the flows."""
