"""The scrape stage: crawl image search with Selenium, download and validate the images."""
