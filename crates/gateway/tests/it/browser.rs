//! A plain HTTP "browser": keeps cookies, follows no redirects on its own,
//! submits HTML forms. Enough to walk the sandbox's consent pages.

use reqwest::header::LOCATION;
use scraper::{Html, Selector};

/// One HTTP answer.
#[derive(Debug, Clone)]
pub struct Page {
    pub url: String,
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

impl Page {
    /// The form whose action contains `hint` (or the first form), with its
    /// named inputs' current values.
    pub fn form(&self, hint: Option<&str>) -> (String, Vec<(String, String)>) {
        let doc = Html::parse_document(&self.body);
        let forms = Selector::parse("form").unwrap();
        let inputs = Selector::parse("input").unwrap();
        let form = doc
            .select(&forms)
            .find(|f| hint.is_none_or(|h| f.value().attr("action").unwrap_or("").contains(h)))
            .unwrap_or_else(|| panic!("no form {hint:?} on {}:\n{}", self.url, self.body));
        let action = form.value().attr("action").unwrap_or("").to_owned();
        let mut fields = Vec::new();
        for input in form.select(&inputs) {
            let v = input.value();
            let (Some(name), kind) = (v.attr("name"), v.attr("type").unwrap_or("text")) else {
                continue;
            };
            if kind == "checkbox" && v.attr("checked").is_none() {
                continue;
            }
            fields.push((name.to_owned(), v.attr("value").unwrap_or("").to_owned()));
        }
        (action, fields)
    }

    /// Values of every checkbox named `name` on the page.
    pub fn checkbox_values(&self, name: &str) -> Vec<String> {
        let doc = Html::parse_document(&self.body);
        let sel = Selector::parse(&format!("input[type=checkbox][name={name}]")).unwrap();
        doc.select(&sel)
            .filter_map(|e| e.value().attr("value").map(str::to_owned))
            .collect()
    }
}

/// The browser.
pub struct Browser {
    pub http: reqwest::Client,
}

impl Browser {
    pub fn new() -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .unwrap(),
        }
    }

    async fn page(url: String, resp: reqwest::Response) -> Page {
        let status = resp.status().as_u16();
        let location = resp.headers().get(LOCATION).map(|v| {
            let loc = v.to_str().unwrap().to_owned();
            reqwest::Url::parse(&url)
                .unwrap()
                .join(&loc)
                .unwrap()
                .to_string()
        });
        Page {
            url,
            status,
            location,
            body: resp.text().await.unwrap_or_default(),
        }
    }

    pub async fn get(&self, url: &str) -> Page {
        let resp = self.http.get(url).send().await.unwrap();
        Self::page(url.to_owned(), resp).await
    }

    /// GET, then follow redirects while they stay under `within`.
    pub async fn get_following(&self, url: &str, within: &str) -> Page {
        let mut page = self.get(url).await;
        while let Some(loc) = page.location.clone().filter(|l| l.starts_with(within)) {
            page = self.get(&loc).await;
        }
        page
    }

    /// Submit a form of `page` with `set` overriding/adding fields, then
    /// follow redirects while under `within`.
    pub async fn submit(
        &self,
        page: &Page,
        hint: Option<&str>,
        set: &[(&str, &str)],
        within: &str,
    ) -> Page {
        let (action, mut fields) = page.form(hint);
        for (k, v) in set {
            fields.retain(|(n, _)| n != k);
            fields.push(((*k).to_owned(), (*v).to_owned()));
        }
        self.submit_fields(page, &action, &fields, within).await
    }

    pub async fn submit_fields(
        &self,
        page: &Page,
        action: &str,
        fields: &[(String, String)],
        within: &str,
    ) -> Page {
        let url = reqwest::Url::parse(&page.url)
            .unwrap()
            .join(action)
            .unwrap()
            .to_string();
        let resp = self.http.post(&url).form(fields).send().await.unwrap();
        let mut page = Self::page(url, resp).await;
        while let Some(loc) = page.location.clone().filter(|l| l.starts_with(within)) {
            page = self.get(&loc).await;
        }
        page
    }
}
