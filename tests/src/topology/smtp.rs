//! An SMTP sink (what Mailpit is in docker-compose.yml): accepts every
//! message and keeps its text, so the run can check the order email left
//! through `SMTP_URL`.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// Messages received (their DATA text), and a bell rung on each.
#[derive(Clone, Default)]
pub struct Inbox(Arc<Received>);

#[derive(Default)]
struct Received {
    messages: Mutex<Vec<String>>,
    arrived: Notify,
}

impl Inbox {
    fn push(&self, text: String) {
        let mut messages = self.0.messages.lock().unwrap_or_else(|e| e.into_inner());
        messages.push(text);
        self.0.arrived.notify_waiters();
    }

    /// How many messages arrived.
    pub fn len(&self) -> usize {
        let messages = self.0.messages.lock().unwrap_or_else(|e| e.into_inner());
        messages.len()
    }

    /// Whether none arrived.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits until at least one message arrived; false after `limit`.
    pub async fn first(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let arrived = self.0.arrived.notified();
            if !self.is_empty() {
                return true;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return !self.is_empty();
            }
        }
    }
}

/// Listens on a loopback port; returns the `smtp://` URL and the inbox.
pub async fn serve() -> anyhow::Result<(String, Inbox)> {
    let inbox = Inbox::default();
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let kept = inbox.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let inbox = kept.clone();
            tokio::spawn(async move {
                let _ = session(stream, inbox).await;
            });
        }
    });
    Ok((format!("smtp://{addr}"), inbox))
}

async fn session(stream: tokio::net::TcpStream, inbox: Inbox) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 sink ESMTP\r\n").await?;
    let mut data: Option<String> = None;
    while let Some(line) = lines.next_line().await? {
        if let Some(body) = data.as_mut() {
            if line == "." {
                let text = std::mem::take(body);
                inbox.push(text);
                data = None;
                write.write_all(b"250 queued\r\n").await?;
            } else {
                body.push_str(&line);
                body.push('\n');
            }
            continue;
        }
        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
            "DATA" => {
                data = Some(String::new());
                b"354 go ahead\r\n"
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => b"250 ok\r\n",
        };
        write.write_all(reply).await?;
    }
    Ok(())
}
