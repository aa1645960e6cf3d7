"""The facilitator's tools: the launcher now; walkthroughs, exposure probe and reports later."""
