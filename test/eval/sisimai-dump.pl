#!/usr/bin/perl
# Peer baseline for test/eval/eval-bounces.ts: runs Sisimai (Debian libsisimai-perl,
# 4.25.x) over each file given on the command line and prints one JSON object per line
# and per recipient: {file, index, recipient, reason, status, replycode, softbounce,
# feedbacktype, action}. A file Sisimai finds nothing in prints one line with
# reason "(none)"; a file it cannot read prints {file, error}.
use strict;
use warnings;
use Sisimai;
use JSON::PP;

my $json = JSON::PP->new->canonical->utf8;
for my $file (@ARGV) {
    my $list = eval { Sisimai->make($file, 'delivered' => 1, 'vacation' => 1) };
    if ($@) {
        print $json->encode({ file => $file, error => "$@" }), "\n";
        next;
    }
    if (!defined $list || !@$list) {
        print $json->encode({ file => $file, index => 0, reason => '(none)' }), "\n";
        next;
    }
    my $i = 0;
    for my $e (@$list) {
        $i++;
        print $json->encode({
            file         => $file,
            index        => $i,
            recipient    => $e->recipient ? $e->recipient->address : undef,
            reason       => $e->reason,
            status       => $e->deliverystatus,
            replycode    => $e->replycode,
            softbounce   => $e->softbounce,
            feedbacktype => $e->feedbacktype,
            action       => $e->action,
            diagnostic   => $e->diagnosticcode,
        }), "\n";
    }
}
