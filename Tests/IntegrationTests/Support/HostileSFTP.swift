import FleetSupport
import Foundation

/// A hostile SFTP server on a fleet host: a small SFTP v3 server in Perl (perl-base is in every
/// fleet image) that serves a fake tree whose listings a test chooses, names like "../../x"
/// included. It takes the place of the host's sftp-server binary, which sshd runs for every
/// new SFTP session, so sshd itself is the real one, untouched and never restarted; with no
/// listing installed the real server (moved aside) runs as before.
enum HostileSFTP {
    /// One entry of a fake tree: kind f, d or l; its directory ("." for the root); its name as
    /// listed; a link's target.
    struct Entry {
        var kind: Character
        var parent: String
        var name: String
        var target: String = ""
        static func file(_ name: String, in parent: String = ".") -> Entry { Entry(kind: "f", parent: parent, name: name) }
        static func dir(_ name: String, in parent: String = ".") -> Entry { Entry(kind: "d", parent: parent, name: name) }
        static func link(_ name: String, to target: String, in parent: String = ".") -> Entry {
            Entry(kind: "l", parent: parent, name: name, target: target)
        }
        /// What a real server lists first in every directory.
        static func standard(in parent: String = ".") -> [Entry] { [.dir(".", in: parent), .dir("..", in: parent)] }
    }

    static let sftpServer = "/usr/lib/openssh/sftp-server"

    static func install(on host: String) async throws {
        let r = try await Fleet.run(
            host,
            "[ -e \(sftpServer).real ] || mv \(sftpServer) \(sftpServer).real; cat > \(sftpServer).new && chmod 755 \(sftpServer).new && mv -f \(sftpServer).new \(sftpServer)",
            stdin: Data(script.utf8))
        guard r.status == 0 else { throw SetupFailure(description: "installing the hostile sftp server on \(host): \(r.all)") }
    }

    /// Serves `entries` under the remote directory `root`.
    static func serve(_ entries: [Entry], root: String, on host: String) async throws {
        let text = "root \(root)\n" + entries.map { "\($0.kind)\t\($0.parent)\t\($0.name)\t\($0.target)\n" }.joined()
        let r = try await Fleet.run(host, "cat > /etc/hostile-sftp.list", stdin: Data(text.utf8))
        guard r.status == 0 else { throw SetupFailure(description: "writing the hostile listing on \(host): \(r.all)") }
    }

    /// The real sftp-server back in its place.
    static func remove(from host: String) async throws {
        let r = try await Fleet.run(
            host, "rm -f /etc/hostile-sftp.list; if [ -e \(sftpServer).real ]; then mv -f \(sftpServer).real \(sftpServer); fi")
        guard r.status == 0 else { throw SetupFailure(description: "restoring sftp-server on \(host): \(r.all)") }
    }

    static let script = #"""
        #!/usr/bin/perl
        # A hostile SFTP v3 server for tests: it serves the fake tree described in /etc/hostile-sftp.list
        # (the real sftp-server, moved aside, when that file is absent). First line: "root PATH"; then one entry a
        # line, tab-separated: TYPE (f, d or l), PARENT ("." for the root), NAME, and a link's TARGET.
        # Names are listed as written, in file order, so they may hold "/", repeat or be "..".
        use strict;
        use warnings;

        my $conf = $ENV{HOSTILE_SFTP_LIST} // '/etc/hostile-sftp.list';
        exec '/usr/lib/openssh/sftp-server.real' unless -e $conf;
        open(my $cf, '<', $conf) or die "hostile-sftp: $conf: $!";
        my $root = <$cf>;
        chomp $root;
        $root =~ s/^root //;
        my (@entries, %nodes);
        while (my $line = <$cf>) {
            chomp $line;
            next if $line eq '';
            my ($type, $parent, $name, $target) = split /\t/, $line, -1;
            my $key = $parent eq '.' ? $name : "$parent/$name";
            my $e = { type => $type, parent => $parent, name => $name, target => $target // '', key => $key };
            push @entries, $e;
            push @{ $nodes{$key} }, $e;
        }
        close $cf;

        binmode STDIN;
        binmode STDOUT;
        $| = 1;

        sub readn {
            my ($n) = @_;
            my $buf = '';
            while (length($buf) < $n) {
                my $got = sysread(STDIN, $buf, $n - length($buf), length($buf));
                exit 0 unless $got;
            }
            return $buf;
        }
        sub send_packet {
            my ($type, $payload) = @_;
            my $p = pack('C', $type) . $payload;
            my $out = pack('N', length $p) . $p;
            while (length $out) {
                my $n = syswrite(STDOUT, $out);
                exit 0 unless defined $n && $n > 0;
                substr($out, 0, $n) = '';
            }
        }
        sub str { pack('N', length $_[0]) . $_[0] }
        sub status { my ($id, $code, $msg) = @_; send_packet(101, pack('N', $id) . pack('N', $code) . str($msg) . str('')) }
        sub content { "hostile file $_[0]{key}\n" }
        sub attrs {
            my ($e) = @_;
            my ($perm, $size) = $e->{type} eq 'd' ? (040755, 4096) : $e->{type} eq 'l' ? (0120777, length $e->{target}) : (0100644, length content($e));
            return pack('N', 0x5) . pack('Q>', $size) . pack('N', $perm);
        }
        sub longname {
            my ($e) = @_;
            my $mode = $e->{type} eq 'd' ? 'drwxr-xr-x' : $e->{type} eq 'l' ? 'lrwxrwxrwx' : '-rw-r--r--';
            return "$mode    1 tester   tester         0 Jan  1 00:00 $e->{name}";
        }
        my $rootnode = { type => 'd', parent => '', name => '.', key => '', target => '' };
        # The nodes at a path the client gave (all of them: a hostile listing repeats names).
        sub lookup {
            my ($path) = @_;
            $path =~ s{/+$}{} if $path ne '/';
            return ($rootnode) if $path eq $root;
            return () unless index($path, "$root/") == 0;
            return @{ $nodes{ substr($path, length($root) + 1) } // [] };
        }
        sub first_of { my ($want, @n) = @_; for (@n) { return $_ if $want->{ $_->{type} } } return undef }

        my %handles;
        my $next = 0;
        while (1) {
            my $len = unpack('N', readn(4));
            my $pkt = readn($len);
            my $type = unpack('C', $pkt);
            if ($type == 1) { send_packet(2, pack('N', 3)); next; }
            my $id = unpack('N', substr($pkt, 1, 4));
            my $rest = substr($pkt, 5);
            my $s1 = sub { my $l = unpack('N', $rest); my $v = substr($rest, 4, $l); $rest = substr($rest, 4 + $l); $v };
            if ($type == 17 || $type == 7) {            # STAT follows links (none lead anywhere), LSTAT not
                my @n = lookup($s1->());
                my $e = first_of($type == 17 ? { f => 1, d => 1 } : { f => 1, d => 1, l => 1 }, @n);
                if ($e) { send_packet(105, pack('N', $id) . attrs($e)) } else { status($id, 2, 'No such file') }
            } elsif ($type == 16) {                     # REALPATH
                my $p = $s1->();
                send_packet(104, pack('N', $id) . pack('N', 1) . str($p) . str($p) . pack('N', 0));
            } elsif ($type == 19) {                     # READLINK
                my $e = first_of({ l => 1 }, lookup($s1->()));
                if ($e) { send_packet(104, pack('N', $id) . pack('N', 1) . str($e->{target}) . str($e->{target}) . pack('N', 0)) }
                else { status($id, 2, 'No such file') }
            } elsif ($type == 11) {                     # OPENDIR
                my $e = first_of({ d => 1 }, lookup($s1->()));
                if ($e) { my $h = 'h' . $next++; $handles{$h} = { dir => $e, done => 0 }; send_packet(102, pack('N', $id) . str($h)) }
                else { status($id, 2, 'No such file') }
            } elsif ($type == 12) {                     # READDIR: everything at once, then EOF
                my $h = $handles{ $s1->() };
                if (!$h || !$h->{dir}) { status($id, 4, 'bad handle'); next }
                if ($h->{done}) { status($id, 1, 'EOF'); next }
                $h->{done} = 1;
                my $key = $h->{dir}{key};
                my @kids = grep { $_->{parent} eq ($key eq '' ? '.' : $key) } @entries;
                my $body = pack('N', $id) . pack('N', scalar @kids);
                $body .= str($_->{name}) . str(longname($_)) . attrs($_) for @kids;
                send_packet(104, $body);
            } elsif ($type == 3) {                      # OPEN (read only)
                my $e = first_of({ f => 1 }, lookup($s1->()));
                if ($e) { my $h = 'h' . $next++; $handles{$h} = { file => $e }; send_packet(102, pack('N', $id) . str($h)) }
                else { status($id, 2, 'No such file') }
            } elsif ($type == 5) {                      # READ
                my $h = $handles{ $s1->() };
                my ($hi, $lo, $n) = unpack('N N N', $rest);
                my $off = $hi * 4294967296 + $lo;
                my $data = $h && $h->{file} ? content($h->{file}) : '';
                if ($off >= length $data) { status($id, 1, 'EOF') }
                else { send_packet(103, pack('N', $id) . str(substr($data, $off, $n))) }
            } elsif ($type == 8) {                      # FSTAT
                my $h = $handles{ $s1->() };
                if ($h && $h->{file}) { send_packet(105, pack('N', $id) . attrs($h->{file})) } else { status($id, 4, 'bad handle') }
            } elsif ($type == 4) {                      # CLOSE
                delete $handles{ $s1->() };
                status($id, 0, 'OK');
            } else {
                status($id, 8, 'unsupported');
            }
        }
        """#
}
