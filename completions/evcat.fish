# fish completion for evcat. Install: copy to ~/.config/fish/completions/evcat.fish

set -l commands listen ws send replay bench serve help
complete -c evcat -f
complete -c evcat -n "not __fish_seen_subcommand_from $commands" -a listen -d 'tail an SSE stream'
complete -c evcat -n "not __fish_seen_subcommand_from $commands" -a ws -d 'interactive WebSocket session'
complete -c evcat -n "not __fish_seen_subcommand_from $commands" -a send -d 'send WebSocket messages'
complete -c evcat -n "not __fish_seen_subcommand_from $commands" -a replay -d 'replay a recording'
complete -c evcat -n "not __fish_seen_subcommand_from $commands" -a bench -d 'load test SSE or WebSocket'
complete -c evcat -n "not __fish_seen_subcommand_from $commands" -a serve -d 'built-in SSE and WebSocket server'
complete -c evcat -n "not __fish_seen_subcommand_from $commands" -a help -d 'help for a command'
complete -c evcat -n "not __fish_seen_subcommand_from $commands" -l version -d 'print versions'
complete -c evcat -n "__fish_seen_subcommand_from help" -a 'listen ws send replay bench serve'

# Options of every connecting command
set -l conn "__fish_seen_subcommand_from listen ws send replay"
set -l connb "__fish_seen_subcommand_from listen ws send replay bench"
complete -c evcat -n $connb -s H -l header -x -d 'add a request header'
complete -c evcat -n $connb -s u -l user -x -d 'basic auth USER:PASSWORD'
complete -c evcat -n $connb -l bearer -x -d 'send Authorization: Bearer TOKEN'
complete -c evcat -n $connb -l cacert -r -F -d 'trust the CA certificates in FILE'
complete -c evcat -n $connb -l cert -r -F -d 'client certificate'
complete -c evcat -n $connb -l key -r -F -d 'client private key'
complete -c evcat -n $connb -s k -l insecure -d 'do not verify the server certificate'
complete -c evcat -n $conn -s x -l proxy -x -d 'proxy URL'
complete -c evcat -n $connb -l connect-timeout -x -d 'give up connecting after DUR'
complete -c evcat -n $conn -s o -l format -x -a 'pretty raw json' -d 'output format'
complete -c evcat -n $conn -l color -x -a 'auto always never' -d 'colour'
complete -c evcat -n $conn -l record -r -F -d 'record every message to FILE (JSON Lines)'

# listen
set -l listen "__fish_seen_subcommand_from listen"
complete -c evcat -n $listen -s X -l request -x -a 'GET POST PUT PATCH' -d 'request method'
complete -c evcat -n $listen -s d -l data -x -d 'request body, or @FILE'
complete -c evcat -n $listen -l event -x -d 'print only events of TYPE'
complete -c evcat -n $listen -l last-event-id -x -d 'Last-Event-ID for the first connect'
complete -c evcat -n $listen -l no-reconnect -d 'end when the stream ends'

# WebSocket (listen ws://, ws, send), and -n/--timeout for all three
set -l wsc "__fish_seen_subcommand_from listen ws send"
set -l wscb "__fish_seen_subcommand_from listen ws send bench"
set -l wscr "__fish_seen_subcommand_from listen ws send replay"
set -l wscbr "__fish_seen_subcommand_from listen ws send replay bench"
complete -c evcat -n $wsc -s n -l count -x -d 'exit after N events or messages'
complete -c evcat -n $wscr -l timeout -x -d 'stop after DUR'
complete -c evcat -n $wscbr -l subprotocol -x -d 'offer a subprotocol'
complete -c evcat -n $wscbr -l origin -x -d 'send Origin'
complete -c evcat -n $wsc -l ping-interval -x -d 'ping every DUR'
complete -c evcat -n $wscb -l on-open -x -d 'send MSG after the handshake'
complete -c evcat -n $wscb -l binary -d 'send binary frames'
complete -c evcat -n $wscbr -l max-message -x -d 'largest incoming message'
complete -c evcat -n $wsc -l reconnect -d 'reconnect with backoff'
complete -c evcat -n $wsc -l max-retries -x -d 'give up after N reconnection attempts'
complete -c evcat -n $listen -l idle-timeout -x -d 'treat DUR of silence as a drop'
complete -c evcat -n $listen -l http1.1 -d 'use HTTP/1.1'
complete -c evcat -n $listen -l http2 -d 'use HTTP/2'
complete -c evcat -n $listen -l max-event-size -x -d 'largest line or event'

# replay
set -l replay "__fish_seen_subcommand_from replay"
complete -c evcat -n $replay -F
complete -c evcat -n $replay -l speed -x -d 'play X times as fast'
complete -c evcat -n $replay -l no-timing -d 'send each message as soon as the previous one is written'
complete -c evcat -n $replay -l expect -d 'compare what comes back with the recording'
complete -c evcat -n $replay -l serve -d 'serve the recording to clients instead'

# serve (and replay --serve)
set -l serve "__fish_seen_subcommand_from serve"
set -l server "__fish_seen_subcommand_from serve replay"
complete -c evcat -n $server -l listen -x -d 'ADDR:PORT to listen on'
complete -c evcat -n $server -l tls -r -F -d 'certificate and key files'
complete -c evcat -n $serve -l tick -x -d 'tick interval (0 = off)'
complete -c evcat -n $serve -l retry -x -d 'reconnection time announced (ms)'
complete -c evcat -n $serve -l history -x -d 'events kept for Last-Event-ID'
complete -c evcat -n $serve -l max-message -x -d 'largest /publish body'
complete -c evcat -n $serve -l max-queue -x -d 'unsent data per subscriber'
complete -c evcat -n $serve -l max-connections -x -d 'refuse connections beyond N'
complete -c evcat -n $serve -l header-timeout -x -d 'time allowed for a request head'
complete -c evcat -n $serve -l keepalive -x -d 'comment interval with --tick 0'
complete -c evcat -n $serve -l idle-timeout -x -d 'keep-alive wait between requests'

# bench
set -l bench "__fish_seen_subcommand_from bench"
complete -c evcat -n $bench -s c -l connections -x -d 'connections to open'
complete -c evcat -n $bench -l connect-rate -x -d 'new connections per second'
complete -c evcat -n $bench -s d -l duration -x -d 'measure for DUR'
complete -c evcat -n $bench -s t -l threads -x -d 'worker threads per process'
complete -c evcat -n $bench -s p -l procs -x -d 'worker processes'
complete -c evcat -n $bench -l source -x -d 'local addresses to spread connections over'
complete -c evcat -n $bench -l mode -x -a 'echo subscribe' -d 'WebSocket mode'
complete -c evcat -n $bench -s r -l message-rate -x -d 'echo messages per second per connection'
complete -c evcat -n $bench -l size -x -d 'echo message size'
complete -c evcat -n $bench -l latency-field -x -d 'JSON field with the UNIX time in ns'
complete -c evcat -n $bench -l publish -x -d 'POST timestamped messages to URL'
complete -c evcat -n $bench -l publish-rate -x -d 'messages per second to publish'
complete -c evcat -n $bench -l json -r -F -d 'write the summary as JSON'
complete -c evcat -n $bench -l assert -x -d 'threshold such as p99<50ms'

# All
set -l any "__fish_seen_subcommand_from listen ws send replay bench serve"
complete -c evcat -n $any -s v -l verbose -d 'more detail on stderr'
complete -c evcat -n $any -s q -l quiet -d 'errors only'
complete -c evcat -n $any -s h -l help -d 'show help'
