"""What a study is: plan, lifecycle, templates, screeners, audience and the criteria catalog."""
